"""The learning lab: small, real computations that show the course's ideas."""
