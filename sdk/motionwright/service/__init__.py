"""The render service: job store, cache, scheduler, HTTP server."""
