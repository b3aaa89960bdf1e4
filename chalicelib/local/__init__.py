"""The embedded local stack: moto server, resources, scheduler and queue pollers, HTTP server."""
