"""asv benchmarks of the inference engine (xgpm.inference) and of xgpm.retrieve.rainrate.

The U-Net is the ``drain`` card's architecture with random weights (no trained file needed):
timings are those of the real network size. Inputs are random-but-realistic GMI swaths
(:func:`xgpm.models._testing.synthetic_orbit`); 2959 along-track pixels is a full orbit. The
model is loaded in ``setup`` (cached per process), so load time is not measured.
"""

from __future__ import annotations

import numpy as np

MODEL = "drain-random"


class DrainInference:
    """DRAIN U-Net on a GMI swath: direct call vs dask (one block, auto blocks)."""

    params = ([512, 2959],)
    smoke_params = ([64],)  # tests/test_asv.py
    param_names = ["along_track"]
    timeout = 300

    def setup(self, along_track):
        from xgpm.inference import predict_numpy
        from xgpm.models._testing import register_random_unet, synthetic_orbit
        from xgpm.retrieve import rainrate

        register_random_unet(MODEL, base="drain")
        self.predict_numpy, self.rainrate = predict_numpy, rainrate
        self.tc = synthetic_orbit(221, along_track)
        self.values = self.tc.values
        self.single = self.tc.chunk({"along_track": -1})
        self.predict_numpy(MODEL, self.values[:, :64])  # load the model

    def teardown(self, along_track):
        from xgpm import models

        models.unregister(MODEL)

    def time_predict_numpy(self, along_track):
        self.predict_numpy(MODEL, self.values)

    def time_rainrate_single_block(self, along_track):
        self.rainrate(self.single, MODEL).compute()

    def time_rainrate_auto_blocks(self, along_track):
        self.rainrate(self.tc, MODEL, chunks="auto").compute()

    def peakmem_rainrate_auto_blocks(self, along_track):
        self.rainrate(self.tc, MODEL, chunks="auto").compute()


class BrainInference:
    """BRAIN posterior over a GMI swath (13 channels) from a database of N entries."""

    params = ([10_000, 100_000],)
    smoke_params = ([300],)
    param_names = ["database"]
    timeout = 300

    def setup(self, database):
        from xgpm.models.brain import BrainRetrieval

        rng = np.random.default_rng(0)
        self.tb_db = rng.normal(255, 20, (database, 13))
        rain = np.clip(265 - self.tb_db[:, 7], 0, None) / 5
        self.brain = BrainRetrieval(np.full(13, 3.0), n_neighbours=100).fit(self.tb_db, rain)
        self.pixels = rng.normal(255, 20, (221, 256, 13))

    def time_fit(self, database):
        self.brain.fit(self.tb_db, self.brain.rain)

    def time_predict(self, database):
        self.brain.predict(self.pixels)
