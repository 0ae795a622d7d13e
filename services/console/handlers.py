"""The console subscribes to no topic and publishes none: it reads and acts only over HTTP."""
