"""GraphiQL served whole by this service: its pinned npm assets (``lock``), fetched once with
npm into a folder (``assets``), the page that loads them (``page``) and the route that serves
them with long cache headers (``static``). No asset comes from a CDN."""
