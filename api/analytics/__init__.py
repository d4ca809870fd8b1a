"""Analytics: post classification, link matching, performance and growth queries."""
