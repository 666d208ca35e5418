"""The blob data plane: content-addressed bytes, resumable upload sessions, ranged downloads.

Bytes live in a :class:`~artifortress.blobs.store.BlobStore` (a local folder or
S3); the database records which blobs exist (``blobs``), which repository
holds which blob (``repo_blobs``) and the upload sessions in flight.  Bytes
become visible only after their digest and size verify, and only through a
repository that holds them.
"""
