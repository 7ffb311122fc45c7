"""Pure domain rules: no database, no HTTP, no clock. This is where the law lives."""
