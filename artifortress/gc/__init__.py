"""Online garbage collection of blobs that nothing live references."""
