"""The console's pure rules: words, queues, allowed actions, times, charts, sessions."""
