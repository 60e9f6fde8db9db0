"""Server-rendered pages. Today the front door: `/` and the offline API docs."""
