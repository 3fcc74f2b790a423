"""What users run: the imgsim command line, the web app, the retrieval benchmark."""
