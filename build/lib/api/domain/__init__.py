"""Pure values and rules every layer shares, with no I/O: enums, the text rules (hashtags,
links, classification), reporting periods, the demo campaign's content, and the `Principal`
(who is asking) that `api.auth` makes and the schema reads.

It sits below the data layer, the worker, the schema and the simulator, so each of them can
derive the same facts from the same text without importing one another.
"""
