"""The ground floor: the vocabulary every stage shares, importing nothing of theirs.

    emotions.py      the emotion space (EMOTIONS, Emotion, valence/arousal mappings)
    observations.py  what sensing hands to the mood estimator
    mood.py          the smoothed mood state
    policy.py        where the music should take the listener (the Policy enum)
    tracks.py        Track, TrackTable (the library as ranking sees it), UpcomingTrack
    history.py       plays, feedback and the mood they happened in; the early-skip rule

Nothing here does I/O; this ``__init__`` imports nothing, so ``import moodshuffle.domain.policy``
does not load numpy.
"""
