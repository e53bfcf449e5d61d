"""The platform's REST API (FastAPI) and the process that serves it with the scheduler.

``create_app`` builds the API over a store, a machine and a scheduler; ``serve_platform``
runs it (``athanor up``); ``client.PlatformClient`` is the CLI's way to talk to it. Heavy
libraries load only when the server starts, so importing this package stays cheap.
"""
