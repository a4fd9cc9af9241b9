"""The live dashboard at the control URL: the journal as swimlanes, the simulated world, gates.

- routes.py   add_routes(app, plane): the page, its static files, the world, the SSE stream
- stream.py   the journal's fan-out to open dashboards, off the fakes' hot path
- owners.py   which local process opened a connection (the lane's instance)
- world.py    the Bot API world as the page shows it
- static/     index.html, dashboard.js/.css and swimlanes.js/.css (shared with report.html)
"""
