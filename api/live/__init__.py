"""Live activity: the process's one LISTEN connection, its fan-out to subscribers
(``hub``), and the WebSocket endpoint that serves ``campaignActivity`` (``endpoint``)."""
