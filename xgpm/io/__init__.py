"""Reading and writing NASA PPS HDF5 granules in GPM-API's data model."""
