"""Sandboxes that execute student notebooks, behind one small interface."""
