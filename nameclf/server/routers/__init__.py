"""One router per area of the API: predictions, models, health, and the pages (the web page and the docs)."""
