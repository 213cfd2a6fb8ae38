"""Loaders: files in, validated and versioned Parquet out (read → clean → write → register)."""
