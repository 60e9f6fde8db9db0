"""Cross-cutting building blocks every domain stands on: database, jobs, HTTP, observability."""
