"""Media: photos people upload, judged by their content (images.py), kept
behind one storage interface (storage.py: the local disk or S3), and
recorded in the library (library.py)."""
