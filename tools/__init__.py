"""Building the course (site, slides): run from the checkout, never installed with the package."""
