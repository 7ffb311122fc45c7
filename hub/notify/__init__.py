"""Built-in notifiers (SMTP e-mail) and templates."""
