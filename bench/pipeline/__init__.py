"""The training pipeline: stage graph derived from method declarations, content-addressed cached stages."""
