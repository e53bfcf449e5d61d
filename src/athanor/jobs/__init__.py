"""Training jobs on the platform: the queue, the scheduler, executors and workers.

A job is a run executed by a worker process that the scheduler starts when the job's
resources are free: ``submission`` validates and queues it, ``placement`` decides what starts
and why the rest waits, ``scheduler`` runs that decision and watches workers, ``executor``
starts and signals worker processes, ``worker`` trains inside one, and ``progress`` reports
step, epoch and ETA to the store while it does.
"""
