"""Compiled plans: a validated query answered by one SQL statement that builds its ``data``.

``compiler`` turns an operation into a plan (SQL and parameter getters) or says it cannot;
``plans`` keeps plans per document text and runs them.  The resolver path answers whatever
has no plan, so a plan is an optimisation that must answer exactly as the resolvers would
(tests/e2e/test_compiled.py runs both paths side by side).
"""
