"""All Qt widgets of the application."""
