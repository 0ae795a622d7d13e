"""Evidence's use cases: files, submissions, checks, verification and dossiers (store through repository/)."""
