"""Experiment code for one notebook each; it imports the library, and the library never imports it."""
