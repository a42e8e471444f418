"""Decision support: which kabupaten/kota need action first and why, and which playbook actions are due.

Pure code (no I/O in the scorer and the recommender): `reference` and `playbooks` load the operator's
data files, `ranking` scores each region per hazard, `recommend` finds the due actions, `board`
keeps both and says what changed. The worker (streams/room.py) calls the board after each batch.
"""
