"""JSON-RPC 2.0 server (WebSocket + HTTP) with Substrate's method names and JSON shapes."""
