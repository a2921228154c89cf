"""Training pipelines and the ``xgpm train`` command.

:mod:`~xgpm.pipelines.cli` is ``xgpm train`` (one sub-command per trainable model family: every
registered retrieval card, ``scorer``, ``to-gmi``); :mod:`~xgpm.pipelines.scorer` is the
scorer's whole benchmark pipeline (simulated archive, tables, training, held-out evaluation,
figures, docs table), behind ``xgpm train scorer --simulate WORK`` and
``benchmarks/train_scorer.py``. A floor above the capabilities it drives (simulate, verify,
models, translate), so none of them imports it.
"""
