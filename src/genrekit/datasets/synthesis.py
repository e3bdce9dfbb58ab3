"""Deterministic synthetic "music" for the ten GTZAN genres.

The test suite and ``make demo`` need a data set that is small, free, fast to make and
honest: the audio goes through real files (WAV, AU, FLAC, OGG, MP3) and the same
decode path as real data, and the genres differ the way genres do -- tempo, rhythm
pattern, timbre and harmony -- not by a marker a network could latch on to.

Every track is rendered from a genre *style* (tempo range, swing, a 16-step drum
pattern per drum voice, chord progressions, a bass line, accompaniment and lead
instruments with their timbres) and a per-track random draw (tempo, key, which
progression, mix levels, timbre details, noise floor, recording EQ, which bars vary,
fills, breaks, timing and velocity humanisation). The style makes the genres
learnable; the draw makes it a learning problem rather than a lookup. A small CNN on
3 s log-mel clips learns it in about a minute on a CPU.

All synthesis is vectorised NumPy: wavetable oscillators (one table per instrument,
indexed by phase, so a note costs a few array operations whatever its number of
partials), exponential envelopes, synthesized drum one-shots placed at event times.
The only Python loops run over bars and notes. Rendering is deterministic in
``(genre, seconds, sr, seed)``; the same arguments give bit-identical files.

Examples
--------
>>> y = render("metal", seconds=5.0, seed=3)            # doctest: +SKIP
>>> y.shape, y.dtype                                     # doctest: +SKIP
((110250,), dtype('float32'))
>>> tree = write_tree("/tmp/syn", n_per_genre=2, seconds=5.0)   # doctest: +SKIP
>>> sorted(p.name for p in (tree / "jazz").iterdir())    # doctest: +SKIP
['jazz.00000.wav', 'jazz.00001.wav']
>>> tracks = synthetic(n_per_genre=10, seconds=10.0)     # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import pathlib
import warnings
from dataclasses import dataclass, replace

import numpy as np
import soundfile as sf

from genrekit.datasets.gtzan_genre import GENRES
from genrekit.errors import ConfigError
from genrekit.files import atomic_write, atomic_write_text, cache_home

__all__ = [
    "GENRES",
    "GENERATOR_VERSION",
    "LAYOUTS",
    "FORMATS",
    "MANIFEST_NAME",
    "render",
    "write_tree",
    "synthetic",
    "track_seed",
]

#: Bump whenever the rendered audio changes for the same arguments: it is part of the
#: manifest and of the cache folder name, so stale synthetic trees are regenerated.
GENERATOR_VERSION = 1

#: Folder layouts :func:`write_tree` can produce (see its docstring).
LAYOUTS = ("folder", "genres", "genres_original")

#: File formats :func:`write_tree` can write: extension -> (libsndfile format, subtype).
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "au": ("AU", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}

#: Name of the manifest :func:`write_tree` leaves in the folder holding the genre folders.
#: A dot file, so that loaders walking the tree never mistake it for a track or a genre.
MANIFEST_NAME = ".genrekit-synthetic.json"

# Mixed into every track's seed so synthetic streams never coincide with other
# genrekit random streams (splits, augmentation) seeded with the same small integers.
_SALT = 0x5E17_0C0D

# Wavetable length. A power of two so the phase wraps with a bit mask; 4096 entries
# keep the table-lookup noise far below the noise floor we add anyway.
_TABLE = 4096
_MASK = _TABLE - 1

# Chord shapes, semitones above the chord root.
_MAJ = (0, 4, 7)
_MIN = (0, 3, 7)
_DOM7 = (0, 4, 7, 10)
_MAJ7 = (0, 4, 7, 11)
_MIN7 = (0, 3, 7, 10)
_POW = (0, 7, 12)


# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class _Timbre:
    """How one instrument sounds: partials, envelope and modulation.

    Attributes
    ----------
    harmonics : int
        Number of partials in the wavetable (odd partials only when ``odd``).
    tilt : float
        Partial ``k`` has amplitude ``k ** -tilt``: 1 is saw-like, 2 is mellow.
    odd : bool
        Odd partials only (square / clarinet / organ-like hollow sound).
    attack, decay, release : float
        Envelope times in seconds: linear attack, exponential decay time constant
        towards ``sustain``, exponential release time constant after the note ends.
    sustain : float
        Level the decay settles to, 0..1 (0 = plucked / struck).
    twang : float
        Level of a bright, fast-decaying extra layer that gives plucked strings their
        pick transient (0 = none).
    vibrato : float
        Vibrato depth as a fraction of the note frequency (0.004 is about 7 cents).
    voices : int
        Unison copies, detuned by ``detune`` (strings section, supersaw, double-tracked guitar).
    detune : float
        Detune of the outer unison voices, fraction of the frequency.
    """

    harmonics: int = 6
    tilt: float = 1.0
    odd: bool = False
    attack: float = 0.005
    decay: float = 0.5
    sustain: float = 0.0
    release: float = 0.05
    twang: float = 0.0
    vibrato: float = 0.0
    voices: int = 1
    detune: float = 0.004


@dataclass(frozen=True)
class _Part:
    """One pitched instrument of a style.

    Attributes
    ----------
    patterns : tuple of str
        16-step patterns, one bar of 16th notes: ``x`` hit, ``o`` soft hit, ``-`` hold the
        previous hit one more step, ``.`` rest. The first is the main pattern; the others
        are variations a bar uses with probability ``vary``.
    line : str
        How pitches are chosen from the bar's chord (see :meth:`_Renderer._pitches`).
    register : int
        MIDI note of the bottom of the octave the line lives in (before transposition).
    timbre : _Timbre
    level : float
        Mix level in dB relative to the other parts (each bus is RMS-normalised first).
    vary : float
        Probability that a bar uses one of the variation patterns.
    gate : float
        Fraction of the written length a note sounds (articulation: 0.3 staccato, 1 legato).
    strum : float
        Seconds between successive chord notes (guitar strum); 0 = block chord.
    drive : float
        ``tanh`` overdrive gain on the bus; 0 = clean.
    lowpass : float
        Bus low-pass cutoff in Hz (guitar cabinet, lo-fi keys); 0 = none.
    presence : float
        Probability that a track has this part at all.
    scale : str
        Scale a ``melody`` line walks: ``"diatonic"`` (major or natural minor after the
        first chord), ``"pentatonic"`` (pop hooks) or ``"blues"`` (minor pentatonic + b5).
    pump : float
        Depth of side-chain "pumping": the bus ducks on every beat and swells back (0 = none).
    """

    patterns: tuple
    line: str
    register: int
    timbre: _Timbre
    level: float = 0.0
    vary: float = 0.0
    gate: float = 1.0
    strum: float = 0.0
    drive: float = 0.0
    lowpass: float = 0.0
    presence: float = 1.0
    scale: str = "diatonic"
    pump: float = 0.0


@dataclass(frozen=True)
class _Kit:
    """Drum sounds of a style (one-shots are synthesized per track with small jitter).

    Attributes
    ----------
    kick : tuple of float
        ``(start Hz, end Hz, decay s, click level)`` of the pitch-swept sine kick.
    snare : str
        ``"snare"`` (noise + tone), ``"rim"`` (cross-stick), ``"clap"`` or ``"brush"``.
    snare_tone, snare_decay : float
        Body frequency in Hz and decay time constant in s.
    hat_cutoff, hat_decay, open_decay : float
        High-pass cutoff of the hat noise (Hz), closed and open hat decays (s).
    """

    kick: tuple = (140.0, 52.0, 0.22, 0.3)
    snare: str = "snare"
    snare_tone: float = 190.0
    snare_decay: float = 0.12
    hat_cutoff: float = 7000.0
    hat_decay: float = 0.035
    open_decay: float = 0.22


@dataclass(frozen=True)
class _Style:
    """Everything that makes a genre a genre.

    Attributes
    ----------
    bpm : tuple of float
        Tempo range; each track draws uniformly from it.
    swing8, swing16 : tuple of float
        Ranges of 8th-note and 16th-note swing (0 straight, 1 full triplet feel).
    progressions : tuple of tuple
        Candidate progressions, each a tuple of ``(root semitones above the key, chord
        shape)`` per bar.
    drums : tuple of (str, tuple of str, float)
        ``(voice, patterns, level dB)``; voices are ``kick``, ``snare``, ``hat``,
        ``open_hat``, ``ride``, ``crash`` (crash only plays on phrase starts).
    kit : _Kit
    parts : tuple of _Part
    drum_vary : float
        Probability that a drum voice uses a variation pattern in a bar.
    drum_level : float
        Level of the drum bus in dB relative to the parts.
    fill, breaks : float
        Probability of a snare fill in the last bar of a 4-bar phrase, and of a bar
        without drums.
    humanize : float
        Standard deviation of note and hit timing, seconds.
    noise_db : tuple of float
        Range of the noise floor in dB below the mix peak.
    crackle : bool
        Add vinyl crackle (lo-fi hip-hop).
    dynamics : bool
        Slow bar-to-bar loudness swells (orchestral phrasing).
    """

    bpm: tuple
    progressions: tuple
    parts: tuple
    drums: tuple = ()
    kit: _Kit = _Kit()
    swing8: tuple = (0.0, 0.0)
    swing16: tuple = (0.0, 0.0)
    drum_vary: float = 0.15
    drum_level: float = 0.0
    fill: float = 0.35
    breaks: float = 0.03
    humanize: float = 0.004
    noise_db: tuple = (-60.0, -40.0)
    crackle: bool = False
    dynamics: bool = False


_PIANO = _Timbre(harmonics=8, tilt=1.5, attack=0.003, decay=0.6, sustain=0.05, release=0.15)
_STRAT = 8 * "x."  # straight 8ths
_BLUES_12 = (
    ((0, _DOM7),) * 4 + ((5, _DOM7),) * 2 + ((0, _DOM7),) * 2
    + ((7, _DOM7), (5, _DOM7), (0, _DOM7), (7, _DOM7))
)

_STYLES = {
    # 12-bar shuffle: swung 8ths, overdriven boogie guitar (5th-6th riff), walking boogie bass,
    # often a harmonica-like lead with wide vibrato on the blues scale.
    "blues": _Style(
        bpm=(70.0, 92.0),
        swing8=(0.8, 1.0),
        progressions=(
            _BLUES_12,
            ((0, _DOM7), (5, _DOM7), (0, _DOM7), (0, _DOM7)) + _BLUES_12[4:],  # quick change
        ),
        drums=(
            ("kick", ("x.......x.......", "x.....x.x......."), 0.0),
            ("snare", ("....x.......x...", "....x.....o.x..."), -2.0),
            ("hat", (_STRAT,), -6.0),
        ),
        kit=_Kit(kick=(110.0, 55.0, 0.22, 0.2), snare_tone=200.0, snare_decay=0.14,
                 hat_cutoff=6500.0, hat_decay=0.05),
        parts=(
            _Part(("x-x-x-x-x-x-x-x-",), "shuffle", 40,
                  _Timbre(harmonics=10, tilt=1.1, attack=0.004, decay=0.2, sustain=0.2,
                          release=0.015),
                  level=0.0, gate=0.6, drive=5.0, lowpass=3500.0),
            _Part(("x--x-x------....", "..x-x-x-x-------", "x-----x--x--x---", "................"),
                  "melody", 67,
                  _Timbre(harmonics=6, tilt=1.0, attack=0.03, decay=0.6, sustain=0.6,
                          release=0.08, vibrato=0.012),
                  level=-5.0, vary=0.6, presence=0.7, scale="blues"),
            _Part((_STRAT,), "boogie", 28,
                  _Timbre(harmonics=3, tilt=1.5, attack=0.01, decay=0.3, sustain=0.6),
                  level=-2.0, gate=0.9),
        ),
        drum_level=-1.0,
        humanize=0.006,
    ),
    # No drums: sustained string section with vibrato, cello roots, and either an Alberti
    # piano arpeggio or a flute-like melody (or both), slow swells.
    "classical": _Style(
        bpm=(56.0, 84.0),
        progressions=(
            ((0, _MAJ), (5, _MAJ), (7, _MAJ), (0, _MAJ)),
            ((0, _MAJ), (9, _MIN), (2, _MIN), (7, _DOM7)),
            ((0, _MIN), (5, _MIN), (7, _MAJ), (0, _MIN)),
            ((0, _MAJ), (7, _MAJ), (9, _MIN), (4, _MIN), (5, _MAJ), (0, _MAJ), (5, _MAJ), (7, _MAJ)),
        ),
        parts=(
            _Part(("x---------------", "x-------x-------"), "chord", 55,
                  _Timbre(harmonics=7, tilt=1.3, attack=0.25, decay=1.0, sustain=0.8,
                          release=0.35, vibrato=0.006, voices=2, detune=0.003),
                  level=0.0, vary=0.3),
            _Part(("x-------x-------", "x---------------"), "root", 36,
                  _Timbre(harmonics=6, tilt=1.4, attack=0.15, decay=1.0, sustain=0.8,
                          release=0.3, vibrato=0.003),
                  level=-3.0, vary=0.3),
            _Part(("x-x-x-x-x-x-x-x-",), "arp", 60, _PIANO, level=-6.0, presence=0.5),
            _Part(("x---x---x-x-x---", "x-----x-x---x---", "x-------x---x-x-", "x---------------"),
                  "melody", 72,
                  _Timbre(harmonics=3, tilt=1.2, odd=True, attack=0.06, decay=0.8, sustain=0.7,
                          release=0.12, vibrato=0.008),
                  level=-3.0, vary=0.6, presence=0.5),
        ),
        humanize=0.008,
        noise_db=(-66.0, -46.0),
        dynamics=True,
    ),
    # Two-beat: kick on 1 and 3, cross-stick on 2 and 4, root-fifth bass, boom-chick
    # strummed acoustic chords and (often) a bright banjo roll in 16ths.
    "country": _Style(
        bpm=(100.0, 122.0),
        swing8=(0.0, 0.15),
        progressions=(
            ((0, _MAJ), (0, _MAJ), (5, _MAJ), (5, _MAJ), (7, _MAJ), (7, _MAJ), (0, _MAJ), (0, _MAJ)),
            ((0, _MAJ), (5, _MAJ), (0, _MAJ), (7, _MAJ)),
            ((0, _MAJ), (5, _MAJ), (7, _MAJ), (0, _MAJ)),
        ),
        drums=(
            ("kick", ("x.......x.......",), 0.0),
            ("snare", ("....x.......x...", "....x.......x.o."), -3.0),
            ("hat", (_STRAT,), -12.0),
        ),
        kit=_Kit(kick=(100.0, 60.0, 0.15, 0.15), snare_tone=260.0, snare_decay=0.07,
                 hat_cutoff=8000.0),
        parts=(
            _Part(("x.......x.......", "x.......x...x..."), "fifth", 31,
                  _Timbre(harmonics=4, tilt=1.3, attack=0.005, decay=0.35, sustain=0.3),
                  level=-1.0, vary=0.3, gate=0.9),
            _Part(("....x-......x-..", "....x-.x....x-.x"), "chord", 55,
                  _Timbre(harmonics=12, tilt=0.9, attack=0.002, decay=0.25, sustain=0.1,
                          twang=0.6),
                  level=0.0, vary=0.3, strum=0.02),
            _Part(("xxxxxxxxxxxxxxxx",), "arp", 67,
                  _Timbre(harmonics=14, tilt=0.8, attack=0.001, decay=0.12, sustain=0.0,
                          twang=1.0),
                  level=-3.0),
        ),
        humanize=0.005,
    ),
    # Four-on-the-floor, open hats on the off-beats, octave bass, lush detuned strings.
    "disco": _Style(
        bpm=(114.0, 128.0),
        progressions=(
            ((0, _MIN7), (0, _MIN7), (5, _MIN7), (5, _MIN7)),
            ((0, _MIN7), (3, _MAJ7), (5, _MIN7), (7, _MIN7)),
            ((2, _MIN7), (7, _DOM7), (0, _MAJ7), (0, _MAJ7)),
        ),
        drums=(
            ("kick", ("x...x...x...x...",), 0.0),
            ("snare", ("....x.......x...",), -3.0),
            ("hat", ("xx.xxx.xxx.xxx.x",), -14.0),
            ("open_hat", ("..x...x...x...x.",), -8.0),
        ),
        kit=_Kit(kick=(140.0, 50.0, 0.2, 0.3), snare_tone=220.0, snare_decay=0.1,
                 open_decay=0.22),
        parts=(
            _Part(("x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x."), "octave", 31,
                  _Timbre(harmonics=6, tilt=1.2, attack=0.003, decay=0.15, sustain=0.5),
                  level=0.0, vary=0.3, gate=0.7),
            _Part(("x-------x-------", "x---------------"), "chord", 60,
                  _Timbre(harmonics=14, tilt=1.0, attack=0.08, decay=0.8, sustain=0.8,
                          release=0.2, vibrato=0.005, voices=2, detune=0.005),
                  level=-3.0, vary=0.3),
            _Part(("x.xxx.xxx.xxx.xx",), "chord", 64,
                  _Timbre(harmonics=6, tilt=1.2, attack=0.001, decay=0.05, sustain=0.0),
                  level=-8.0, gate=0.5, presence=0.5),
        ),
        drum_level=1.0,
        fill=0.2,
    ),
    # Boom-bap: swung 16ths, long 808 kick, fat snare, lo-fi Rhodes chords, sub bass, crackle.
    "hiphop": _Style(
        bpm=(82.0, 96.0),
        swing16=(0.3, 0.7),
        progressions=(
            ((0, _MIN7), (8, _MAJ7)),
            ((0, _MIN7), (5, _MIN7), (8, _MAJ7), (7, _MIN7)),
            ((0, _MIN7), (0, _MIN7), (3, _MAJ7), (10, _DOM7)),
        ),
        drums=(
            ("kick", ("x......x..x.....", "x.....xx..x....x", "x......x.xx....."), 0.0),
            ("snare", ("....x.......x...",), 0.0),
            ("hat", (_STRAT, "x.x.x.xxx.x.x.x.", "xxx.x.x.xxx.x.x."), -11.0),
        ),
        kit=_Kit(kick=(90.0, 48.0, 0.5, 0.15), snare_tone=180.0, snare_decay=0.18,
                 hat_cutoff=6000.0, hat_decay=0.03),
        parts=(
            _Part(("x-------------..", "x-------..x-----"), "chord", 57,
                  _Timbre(harmonics=3, tilt=2.0, attack=0.005, decay=1.2, sustain=0.3,
                          release=0.3),
                  level=-2.0, vary=0.3, lowpass=2500.0),
            _Part(("x-------x-------", "x-----x---x-----"), "root", 28,
                  _Timbre(harmonics=1, attack=0.01, decay=1.0, sustain=0.8, release=0.1),
                  level=-3.0, vary=0.3),
        ),
        drum_level=2.0,
        drum_vary=0.3,
        fill=0.1,
        noise_db=(-48.0, -36.0),
        crackle=True,
    ),
    # Swing: ride "ding ding-da", hi-hat foot on 2 and 4, feathered kick, brush ghosts,
    # walking bass in quarters, rootless 7th-chord piano comping at random syncopations.
    "jazz": _Style(
        bpm=(116.0, 168.0),
        swing8=(0.6, 0.9),
        progressions=(
            ((2, _MIN7), (7, _DOM7), (0, _MAJ7), (0, _MAJ7)),
            ((0, _MAJ7), (9, _DOM7), (2, _MIN7), (7, _DOM7)),
            ((4, _MIN7), (9, _DOM7), (2, _MIN7), (7, _DOM7)),
        ),
        drums=(
            ("ride", ("x...x.x.x...x.x.",), -1.0),
            ("hat", ("....x.......x...",), -12.0),
            ("kick", ("o...o...o...o...", "o.......o......."), -12.0),
            ("snare", ("................", "......o.......o.", "..o.......o.....", "...........o..o."), -10.0),
        ),
        kit=_Kit(kick=(90.0, 55.0, 0.18, 0.05), snare="brush", snare_decay=0.15,
                 hat_cutoff=5000.0, hat_decay=0.03),
        parts=(
            _Part(("x...x...x...x...",), "walk", 31,
                  _Timbre(harmonics=4, tilt=1.6, attack=0.01, decay=0.5, sustain=0.2),
                  level=0.0, gate=0.95),
            _Part(("...x-.......x-..", "x-....x-........", "......x-...x-...", "..x-.....x-.....",
                   ".x-...x-..x-...."), "rootless", 60, _PIANO,
                  level=-3.0, vary=0.8),
        ),
        drum_vary=0.7,
        fill=0.0,
        breaks=0.0,
        humanize=0.007,
    ),
    # Double kick in 16ths, crash on phrase starts, palm-muted heavily distorted power
    # chords in a low register, fast.
    "metal": _Style(
        bpm=(156.0, 188.0),
        progressions=(
            ((0, _POW), (0, _POW), (1, _POW), (0, _POW)),
            ((0, _POW), (3, _POW), (5, _POW), (6, _POW)),
            ((0, _POW), (0, _POW), (10, _POW), (8, _POW)),
        ),
        drums=(
            ("kick", ("xxxxxxxxxxxxxxxx", "xx.xxx.xxx.xxx.x", "x.x.x.x.x.x.x.x."), 0.0),
            ("snare", ("....x.......x...", "..x...x...x...x."), -1.0),
            ("hat", (_STRAT,), -10.0),
            ("crash", ("x...............",), -5.0),
        ),
        kit=_Kit(kick=(180.0, 60.0, 0.09, 0.8), snare_tone=240.0, snare_decay=0.1,
                 hat_cutoff=7500.0),
        parts=(
            _Part(("xxxxxxxxxxxxxxxx", "x-------x-------", "xxx.xxx.xxx.x.x."), "power", 40,
                  _Timbre(harmonics=8, tilt=1.0, attack=0.002, decay=0.15, sustain=0.3,
                          release=0.01, voices=2, detune=0.003),
                  level=0.0, vary=0.25, gate=0.5, drive=25.0, lowpass=5000.0),
            _Part((_STRAT,), "root", 28,
                  _Timbre(harmonics=5, tilt=1.2, attack=0.003, decay=0.2, sustain=0.5),
                  level=-4.0, drive=3.0),
        ),
        drum_vary=0.25,
        fill=0.3,
        humanize=0.002,
    ),
    # Clap on 2 and 4, syncopated kick, supersaw chords in a 3-3-2 rhythm, pumping 8th bass,
    # a square-ish lead melody on the pentatonic scale.
    "pop": _Style(
        bpm=(92.0, 108.0),
        progressions=(
            ((0, _MAJ), (7, _MAJ), (9, _MIN), (5, _MAJ)),
            ((9, _MIN), (5, _MAJ), (0, _MAJ), (7, _MAJ)),
            ((0, _MAJ), (9, _MIN), (5, _MAJ), (7, _MAJ)),
        ),
        drums=(
            ("kick", ("x.....x.x.......", "x.......x.......", "x.....x.x.x....."), 0.0),
            ("snare", ("....x.......x...",), -2.0),
            ("hat", (_STRAT, "xxx.xxx.xxx.xxx."), -11.0),
            ("crash", ("x...............",), -9.0),
        ),
        kit=_Kit(kick=(150.0, 50.0, 0.25, 0.3), snare="clap", hat_cutoff=8000.0),
        parts=(
            _Part(("x-----x-----x---", "x-------x-------"), "chord", 60,
                  _Timbre(harmonics=16, tilt=1.0, attack=0.01, decay=0.4, sustain=0.6,
                          release=0.1, voices=3, detune=0.006),
                  level=-3.0, vary=0.3, pump=0.8),
            _Part((_STRAT,), "root", 33,
                  _Timbre(harmonics=5, tilt=1.3, attack=0.003, decay=0.12, sustain=0.5),
                  level=-2.0, gate=0.8),
            _Part(("x.x.x-x.x---x.x-", "x-x-x-..x-x-x---", "..x.x.x-x.x.x---"), "melody", 72,
                  _Timbre(harmonics=5, tilt=1.0, odd=True, attack=0.005, decay=0.25, sustain=0.3,
                          release=0.06),
                  level=-4.0, vary=0.6, gate=0.9, presence=0.8, scale="pentatonic"),
        ),
        fill=0.25,
    ),
    # One-drop (kick and rim together on beat 3 only), choppy off-beat skank, organ bubble,
    # heavy round bass riff, slow.
    "reggae": _Style(
        bpm=(66.0, 82.0),
        swing16=(0.0, 0.35),
        progressions=(
            ((0, _MAJ), (5, _MAJ)),
            ((0, _MIN), (10, _MAJ)),
            ((0, _MAJ), (7, _MAJ), (5, _MAJ), (7, _MAJ)),
            ((0, _MIN), (5, _MIN)),
        ),
        drums=(
            ("kick", ("........x.......",), 0.0),
            ("snare", ("........x.......",), -2.0),
            ("hat", (_STRAT, "x.xxx.x.x.xxx.x."), -12.0),
        ),
        kit=_Kit(kick=(120.0, 55.0, 0.2, 0.2), snare="rim", hat_cutoff=7000.0),
        parts=(
            _Part(("..x...x...x...x.", "..x...x...x...xx"), "chord", 60,
                  _Timbre(harmonics=10, tilt=1.1, attack=0.002, decay=0.08, sustain=0.0),
                  level=-2.0, vary=0.2, gate=0.35, strum=0.004),
            _Part(("..x.x...x.x...x.",), "chord", 55,
                  _Timbre(harmonics=6, tilt=0.5, attack=0.005, decay=0.5, sustain=1.0,
                          release=0.02),
                  level=-9.0, gate=0.4, presence=0.5),
            _Part(("x..x..x.x.......", "x.....x.x..x....", "x..x....x.x.x..."), "riff", 28,
                  _Timbre(harmonics=2, tilt=2.0, attack=0.01, decay=0.6, sustain=0.6),
                  level=2.0, vary=0.4, gate=0.9, lowpass=700.0),
        ),
        drum_level=-1.0,
        fill=0.15,
        humanize=0.005,
    ),
    # Straight 8ths: backbeat, crash on phrase starts, overdriven double-tracked power
    # chords in 8ths, root bass in 8ths.
    "rock": _Style(
        bpm=(120.0, 146.0),
        progressions=(
            ((0, _POW), (10, _POW), (5, _POW), (0, _POW)),
            ((0, _POW), (5, _POW), (7, _POW), (5, _POW)),
            ((9, _POW), (5, _POW), (0, _POW), (7, _POW)),
        ),
        drums=(
            ("kick", ("x.......x.x.....", "x.x.....x.x....."), 0.0),
            ("snare", ("....x.......x...",), -1.0),
            ("hat", (_STRAT,), -10.0),
            ("crash", ("x...............",), -6.0),
        ),
        kit=_Kit(kick=(130.0, 55.0, 0.2, 0.4), snare_tone=200.0, snare_decay=0.14),
        parts=(
            _Part((_STRAT, "x-x-x-x-x-x-x-x-"), "power", 45,
                  _Timbre(harmonics=10, tilt=1.0, attack=0.003, decay=0.4, sustain=0.5,
                          release=0.03, voices=2, detune=0.003),
                  level=0.0, vary=0.3, gate=0.85, drive=8.0, lowpass=4500.0),
            _Part((_STRAT,), "root", 33,
                  _Timbre(harmonics=5, tilt=1.3, attack=0.003, decay=0.2, sustain=0.5),
                  level=-3.0, gate=0.9),
        ),
        fill=0.35,
    ),
}


# ------------------------------------------------------------------------ synthesis


@functools.lru_cache(maxsize=None)
def _events(pattern: str) -> tuple:
    """Parse a 16-step pattern into ``(step, length in steps, velocity)`` hits."""
    hits = []
    for i, c in enumerate(pattern):
        if c in "xo":
            j = i + 1
            while j < len(pattern) and pattern[j] == "-":
                j += 1
            hits.append((i, j - i, 1.0 if c == "x" else 0.45))
    return tuple(hits)


@functools.lru_cache(maxsize=256)
def _wavetable(harmonics: int, tilt: float, odd: bool) -> np.ndarray:
    """One period of a harmonic waveform.

    Returns
    -------
    np.ndarray [shape=(_TABLE,), dtype=float32]
        Peak-normalised sum of ``harmonics`` sine partials with amplitudes ``k ** -tilt``.
    """
    k = np.arange(1, harmonics + 1, dtype=np.float64)
    if odd:
        k = 2.0 * k - 1.0
    phase = np.arange(_TABLE, dtype=np.float64) / _TABLE
    table = (k[:, None] ** -tilt * np.sin(2.0 * np.pi * k[:, None] * phase[None, :])).sum(axis=0)
    table = (table / np.abs(table).max()).astype(np.float32)
    table.setflags(write=False)  # shared through the cache
    return table


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def _fold(note: int, low: int) -> int:
    """Move ``note`` by octaves into ``[low, low + 12)`` so each line keeps its register."""
    return low + (note - low) % 12


@functools.lru_cache(maxsize=1)
def _signal():
    """scipy.signal, imported on first use: it takes half a second to import, and the
    datasets layer is imported by every command whether or not it synthesises audio."""
    from scipy import signal

    return signal


def _sos(kind: str, cutoff, sr: int, order: int = 2) -> np.ndarray:
    """Butterworth sections, cutoffs clipped below Nyquist so any ``sr`` works."""
    nyq = 0.5 * sr
    cut = np.clip(np.atleast_1d(np.asarray(cutoff, dtype=np.float64)), 20.0, 0.45 * sr) / nyq
    return _signal().butter(order, cut if cut.size > 1 else cut[0], btype=kind, output="sos")


def _jitter_timbre(t: _Timbre, rng: np.random.Generator) -> _Timbre:
    """Per-track variation of an instrument: a different player / patch / room."""
    return replace(
        t,
        harmonics=max(1, t.harmonics + int(rng.integers(-1, 2))) if t.harmonics > 1 else 1,
        tilt=t.tilt * rng.uniform(0.88, 1.12),
        attack=t.attack * rng.uniform(0.8, 1.25),
        decay=t.decay * rng.uniform(0.8, 1.25),
        sustain=min(1.0, t.sustain * rng.uniform(0.85, 1.15)),
        vibrato=t.vibrato * rng.uniform(0.7, 1.3),
    )


class _Renderer:
    """Renders one track of a style; every random draw comes from ``rng`` in a fixed order."""

    def __init__(self, style: _Style, n: int, sr: int, rng: np.random.Generator):
        self.style, self.n, self.sr, self.rng = style, n, sr, rng
        self.bpm = rng.uniform(*style.bpm)
        self.beat = 60.0 / self.bpm
        self.bar = 4.0 * self.beat
        self.swing8 = rng.uniform(*style.swing8)
        self.swing16 = rng.uniform(*style.swing16)
        self.key = int(rng.integers(12))
        prog = style.progressions[int(rng.integers(len(style.progressions)))]
        # One extra bar so notes that ring over the end and walking-bass approaches exist.
        self.n_bars = int(math.ceil(n / sr / self.bar)) + 1
        self.chords = [prog[b % len(prog)] for b in range(self.n_bars + 1)]
        self.humanize = style.humanize * rng.uniform(0.5, 1.5)
        # Sample index ramp, sliced for every note's phase and envelope. Longer than the
        # track because a note humanised to start before 0 is rendered from its own start.
        self.ramp = np.arange(n + int(0.2 * sr), dtype=np.float64)

    # ---- time

    def _time(self, bar: int, step: float) -> float:
        """Seconds from the start of the track of 16th-note ``step`` of ``bar``, swung."""
        beat, sub = divmod(step, 4)
        offset = sub / 4.0
        if sub == 2:
            offset += self.swing8 / 6.0  # 8th swing: the off-beat 8th moves from 1/2 to 2/3
        elif sub % 2 == 1:
            offset += self.swing16 / 12.0  # 16th swing: odd 16ths move from 1/4 to 1/3
        return bar * self.bar + (beat + offset) * self.beat

    def _choose(self, patterns: tuple, vary: float) -> str:
        if len(patterns) > 1 and self.rng.random() < vary:
            return patterns[int(self.rng.integers(1, len(patterns)))]
        return patterns[0]

    # ---- drums

    def _drum_shot(self, voice: str) -> np.ndarray:
        """One drum hit, synthesized with small random variation.

        Returns
        -------
        np.ndarray [shape=(m,), dtype=float32]
            Peak-normalised one-shot.
        """
        sr, rng, kit = self.sr, self.rng, self.style.kit
        var = rng.uniform(0.85, 1.15)
        if voice == "kick":
            f1, f0, decay, click = kit.kick
            f1, f0, decay = f1 * var, f0 * rng.uniform(0.9, 1.1), decay * rng.uniform(0.85, 1.2)
            t = np.arange(int(min(5.0 * decay + 0.02, 1.0) * sr)) / sr
            tau = 0.03
            # Pitch-swept sine: the sweep from f1 to f0 is the "thump", the tail the body.
            phase = 2.0 * np.pi * (f0 * t + (f1 - f0) * tau * (1.0 - np.exp(-t / tau)))
            y = np.sin(phase) * np.exp(-t / decay)
            m = int(0.004 * sr)
            y[:m] += click * rng.standard_normal(m) * np.linspace(1.0, 0.0, m)
        elif voice == "snare":
            kind = kit.snare
            decay = kit.snare_decay * var
            if kind == "rim":
                t = np.arange(int(0.08 * sr)) / sr
                y = np.sin(2 * np.pi * 1700.0 * var * t) * np.exp(-t / 0.012)
                y += 0.5 * np.sin(2 * np.pi * 480.0 * var * t) * np.exp(-t / 0.02)
                y += 0.3 * _signal().sosfilt(_sos("highpass", 2000.0, sr), rng.standard_normal(t.size)) * np.exp(-t / 0.006)
            elif kind == "clap":
                t = np.arange(int(0.3 * sr)) / sr
                noise = _signal().sosfilt(_sos("bandpass", (900.0, 3500.0), sr), rng.standard_normal(t.size))
                # Three hand claps a few ms apart, then the room tail.
                env = np.exp(-t / 0.08) * 0.6
                for d in (0.0, 0.011, 0.022):
                    env = env + np.where(t >= d, np.exp(-np.maximum(t - d, 0.0) / 0.006), 0.0)
                y = noise * env
            elif kind == "brush":
                t = np.arange(int(6.0 * decay * sr)) / sr
                noise = _signal().sosfilt(_sos("bandpass", (2000.0, 9000.0), sr), rng.standard_normal(t.size))
                y = noise * np.minimum(t / 0.01, 1.0) * np.exp(-t / decay)
            else:
                t = np.arange(int(6.0 * decay * sr)) / sr
                noise = _signal().sosfilt(_sos("highpass", 1200.0, sr), rng.standard_normal(t.size))
                y = 0.8 * noise * np.exp(-t / decay)
                y += np.sin(2 * np.pi * kit.snare_tone * var * t) * np.exp(-t / (0.5 * decay))
        elif voice in ("hat", "open_hat"):
            decay = (kit.hat_decay if voice == "hat" else kit.open_decay) * var
            t = np.arange(int(6.0 * decay * sr)) / sr
            y = _signal().sosfilt(_sos("highpass", kit.hat_cutoff * var, sr, 4), rng.standard_normal(t.size))
            y *= np.exp(-t / decay)
        elif voice == "ride":
            t = np.arange(int(1.2 * sr)) / sr
            # Inharmonic square-ish partials (a cymbal bell) over bright noise.
            ratios = np.array([1.0, 1.47, 1.98, 2.53, 3.11, 4.2])
            y = np.sign(np.sin(2 * np.pi * 430.0 * var * ratios[:, None] * t[None, :])).sum(axis=0)
            y = _signal().sosfilt(_sos("highpass", 3000.0, sr), y) * 0.15
            y += 0.5 * _signal().sosfilt(_sos("highpass", 5000.0, sr), rng.standard_normal(t.size))
            y *= np.exp(-t / 0.35)
        elif voice == "crash":
            t = np.arange(int(1.8 * sr)) / sr
            y = _signal().sosfilt(_sos("highpass", 3000.0, sr), rng.standard_normal(t.size))
            y *= np.exp(-t / (0.6 * var))
        else:  # pragma: no cover - styles only use the voices above
            raise ValueError(voice)
        y[-min(64, y.size):] *= np.linspace(1.0, 0.0, min(64, y.size))  # no click at the end
        return (y / (np.abs(y).max() + 1e-12)).astype(np.float32)

    def _place(self, out: np.ndarray, shot: np.ndarray, times, gains) -> None:
        """Add ``shot`` scaled by each gain at each time (seconds) into ``out``."""
        n, sr = self.n, self.sr
        for t, g in zip(times, gains):
            s = int(round(t * sr))
            if s >= n:
                continue
            s = max(s, 0)
            e = min(n, s + shot.size)
            out[s:e] += g * shot[: e - s]

    def _drums(self) -> np.ndarray | None:
        style, rng = self.style, self.rng
        if not style.drums:
            return None
        shots = {voice: self._drum_shot(voice) for voice, _, _ in style.drums}
        if "snare" not in shots:
            shots["snare"] = self._drum_shot("snare")  # fills need one even if the groove has none
        times = {voice: [] for voice in shots}
        gains = {voice: [] for voice in shots}
        for b in range(self.n_bars):
            if rng.random() < style.breaks:
                continue  # stop-time bar: the band drops out
            fill = b % 4 == 3 and rng.random() < style.fill
            for voice, patterns, _ in style.drums:
                if voice == "crash" and b % 4 != 0:
                    continue
                pattern = self._choose(patterns, style.drum_vary)
                if fill and voice != "crash":
                    pattern = pattern[:12] + "...."  # the last beat belongs to the fill
                for step, _, vel in _events(pattern):
                    times[voice].append(self._time(b, step) + rng.normal(0.0, self.humanize))
                    gains[voice].append(vel * rng.uniform(0.85, 1.0))
            if fill:
                for step in range(12, 16):  # snare roll, getting louder
                    times["snare"].append(self._time(b, step) + rng.normal(0.0, self.humanize))
                    gains["snare"].append(0.5 + 0.15 * (step - 12))
        out = np.zeros(self.n, dtype=np.float32)
        levels = {voice: level for voice, _, level in style.drums}
        for voice, shot in shots.items():
            g = 10.0 ** ((levels.get(voice, 0.0) + rng.uniform(-2.0, 2.0)) / 20.0)
            self._place(out, shot * np.float32(g), times[voice], gains[voice])
        return out

    # ---- pitched parts

    def _pitches(self, part: _Part, bar: int, k: int, state: dict) -> list:
        """MIDI notes for hit ``k`` of ``bar`` of ``part``.

        Lines: ``chord`` (all chord tones), ``rootless`` (jazz voicing: 3rd, 5th, 7th, 9th),
        ``power`` (root, fifth, octave), ``root``, ``fifth`` (root / fifth alternating),
        ``octave`` (root / octave alternating), ``walk`` (walking bass with a chromatic
        approach to the next bar's root), ``boogie`` (1-3-5-6-b7-6-5-3), ``shuffle``
        (5th / 6th dyads), ``riff`` (reggae bass figure), ``arp`` (Alberti / banjo roll
        over the chord), ``melody`` (random walk on the scale, chord tone on the downbeat).
        """
        root_off, shape = self.chords[bar]
        low = part.register
        root = _fold(low + self.key + root_off, low)
        line = part.line
        if line == "chord":
            return sorted({_fold(root + i, low) for i in shape})
        if line == "rootless":
            return sorted({_fold(root + i, low) for i in shape[1:] + (14,)})
        if line == "power":
            return [root, root + 7, root + 12]
        if line == "root":
            return [root]
        if line == "fifth":
            return [root if k % 2 == 0 else root + 7 - (12 if root + 7 >= low + 12 else 0)]
        if line == "octave":
            return [root + 12 * (k % 2)]
        if line == "boogie":
            return [root + (0, 4, 7, 9, 10, 9, 7, 4)[k % 8]]
        if line == "shuffle":
            return [root, root + (7 if (k // 2) % 2 == 0 else 9)]
        if line == "riff":
            return [root + (0, 0, 7, 12, 10, 7)[k % 6]]
        if line == "walk":
            third = shape[1]
            if k % 4 == 0:
                return [root]
            if k % 4 == 1:
                return [root + (third if self.rng.random() < 0.6 else 2)]
            if k % 4 == 2:
                return [root + 7]
            nxt = _fold(low + self.key + self.chords[bar + 1][0], low)
            return [nxt + (1 if self.rng.random() < 0.5 else -1)]
        if line == "arp":
            tones = sorted({_fold(root + i, low) for i in shape})
            tones = tones + [tones[0] + 12]
            return [tones[(0, 2, 1, 3, 2, 1)[k % 6] % len(tones)]]
        if line == "melody":
            if k == 0:
                # Land on a chord tone at the start of the bar so the line follows the harmony.
                target = root + shape[int(self.rng.integers(len(shape)))] - self.key
                state["deg"] = int(np.argmin(np.abs(state["pitches"] - target)))
            else:
                state["deg"] += int(self.rng.choice((-2, -1, -1, 0, 1, 1, 2)))
                state["deg"] = int(np.clip(state["deg"], 0, len(state["pitches"]) - 1))
            return [int(state["pitches"][state["deg"]]) + self.key]
        raise ValueError(f"unknown line {line!r}")  # pragma: no cover

    def _notes(self, out: np.ndarray, notes: list, timbre: _Timbre) -> None:
        """Render ``(start s, length s, midi, velocity)`` notes of one instrument into ``out``."""
        sr, n, rng = self.sr, self.n, self.rng
        table = _wavetable(timbre.harmonics, round(timbre.tilt, 3), timbre.odd)
        bright = _wavetable(24, 0.6, False) if timbre.twang else None
        att = max(timbre.attack, 1e-3)
        dec, sus, rel = timbre.decay, timbre.sustain, max(timbre.release, 0.005)
        detunes = np.linspace(-timbre.detune, timbre.detune, timbre.voices) if timbre.voices > 1 else np.zeros(1)
        gain_voices = np.float32(1.0 / math.sqrt(len(detunes)))
        vib_rate = 5.5
        envs: dict = {}  # envelopes only depend on (rendered length, sounding length)
        for start, length, midi, vel in notes:
            s = int(round(start * sr))
            if s >= n:
                continue
            skip = -s if s < 0 else 0
            s = max(s, 0)
            on = max(int(length * sr), 1)
            m = on + int(5.0 * rel * sr)
            if sus == 0.0:
                m = min(m, int((att + 6.0 * dec) * sr))
            m = min(m, n - s + skip, self.ramp.size)
            if m <= skip:
                continue
            key = (m, on)
            env = envs.get(key)
            if env is None:
                t = self.ramp[:m] / sr
                env = np.minimum(t / att, 1.0) * (sus + (1.0 - sus) * np.exp(-t / dec))
                if on < m:
                    env[on:] *= np.exp(-(t[on:] - on / sr) / rel)
                env = env.astype(np.float32)
                envs[key] = env
            f = _midi_hz(midi)
            wave = np.zeros(m, dtype=np.float32)
            for d in detunes:
                inc = f * (1.0 + d) * _TABLE / sr
                phase = self.ramp[:m] * inc + rng.uniform(0.0, _TABLE)
                if timbre.vibrato:
                    # Integral of f * vibrato * sin(2 pi r t): keeps the phase continuous.
                    t = self.ramp[:m] / sr
                    phase += (timbre.vibrato * f * _TABLE / (2 * np.pi * vib_rate)) * (1.0 - np.cos(2 * np.pi * vib_rate * t))
                wave += table[phase.astype(np.int64) & _MASK]
            wave *= gain_voices
            if bright is not None:
                # Pick transient: a bright layer that dies within ~50 ms.
                mb = min(m, int(0.3 * sr))
                idx = (self.ramp[:mb] * (f * _TABLE / sr)).astype(np.int64) & _MASK
                wave[:mb] += timbre.twang * bright[idx] * np.exp(-self.ramp[:mb] / (0.05 * sr)).astype(np.float32)
            wave *= env
            out[s : s + m - skip] += np.float32(vel) * wave[skip:]

    def _part(self, part: _Part) -> np.ndarray:
        rng = self.rng
        timbre = _jitter_timbre(part.timbre, rng)
        state: dict = {}
        if part.line == "melody":
            minor = self.chords[0][1][1] == 3
            if part.scale == "blues":
                scale = (0, 3, 5, 6, 7, 10)
            elif part.scale == "pentatonic":
                scale = (0, 3, 5, 7, 10) if minor else (0, 2, 4, 7, 9)
            else:
                scale = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
            pitches = np.array([part.register + o * 12 + d for o in range(2) for d in scale])
            state = {"scale": scale, "pitches": pitches, "deg": len(pitches) // 2}
        notes = []
        for b in range(self.n_bars):
            pattern = self._choose(part.patterns, part.vary)
            for k, (step, dur, vel) in enumerate(_events(pattern)):
                t0 = self._time(b, step)
                length = (self._time(b, step + dur) - t0) * part.gate
                vel = vel * rng.uniform(0.8, 1.0)
                for j, p in enumerate(self._pitches(part, b, k, state)):
                    notes.append((t0 + j * part.strum + rng.normal(0.0, self.humanize), length, p, vel))
        out = np.zeros(self.n, dtype=np.float32)
        self._notes(out, notes, timbre)
        if part.drive:
            # Overdrive: normalise, then a tanh curve; more gain -> squarer, denser spectrum.
            drive = part.drive * rng.uniform(0.7, 1.4)
            out = np.tanh(drive * out / (np.abs(out).max() + 1e-12)).astype(np.float32)
        if part.lowpass:
            sos = _sos("lowpass", part.lowpass * rng.uniform(0.85, 1.15), self.sr)
            out = _signal().sosfilt(sos, out).astype(np.float32)
        if part.pump:
            # Side-chain compression keyed on the kick: duck at each beat, recover in ~0.1 s.
            since_beat = (self.ramp[: self.n] / self.sr) % self.beat
            out *= (1.0 - part.pump * np.exp(-since_beat / 0.09)).astype(np.float32)
        return out

    # ---- mix

    def render(self) -> np.ndarray:
        style, rng, n, sr = self.style, self.rng, self.n, self.sr
        mix = np.zeros(n, dtype=np.float32)
        buses = []
        drums = self._drums()
        if drums is not None:
            buses.append((drums, style.drum_level))
        for part in style.parts:
            if rng.random() < part.presence:
                buses.append((self._part(part), part.level))
        for bus, level in buses:
            rms = float(np.sqrt(np.mean(bus.astype(np.float64) ** 2)))
            if rms > 0.0:
                g = 10.0 ** ((level + rng.uniform(-3.0, 3.0)) / 20.0) / rms
                mix += np.float32(g) * bus
        if style.dynamics:
            # Phrase swells: a smooth loudness curve through one random level per bar.
            knots = rng.uniform(0.45, 1.0, self.n_bars + 1)
            curve = np.interp(self.ramp[:n], np.arange(self.n_bars + 1) * self.bar * sr, knots)
            mix *= curve.astype(np.float32)
        peak = float(np.abs(mix).max())
        if peak > 0.0:
            mix /= np.float32(peak)
        # Noise floor (tape hiss / room), relative to the peak.
        noise = rng.standard_normal(n).astype(np.float32)
        mix += np.float32(10.0 ** (rng.uniform(*style.noise_db) / 20.0)) * noise
        if style.crackle:
            count = int(rng.poisson(6.0 * n / sr))
            pos = rng.integers(0, n, count)
            clicks = np.zeros(n, dtype=np.float32)
            clicks[pos] = rng.uniform(-0.3, 0.3, count)
            clicks = _signal().sosfilt(_sos("highpass", 1500.0, sr), clicks)
            mix += clicks.astype(np.float32)
        if rng.random() < 0.4:
            # Recording variation: some tracks are darker (a gentle low-pass).
            mix = _signal().sosfilt(_sos("lowpass", rng.uniform(4000.0, 9000.0), sr), mix).astype(np.float32)
        mix *= np.float32(rng.uniform(0.5, 0.9) / (np.abs(mix).max() + 1e-12))
        return mix.astype(np.float32)


# ---------------------------------------------------------------------- public API


def _check_genre(genre) -> int:
    if genre not in GENRES:
        raise ConfigError(f"unknown genre {genre!r}; choose one of {', '.join(GENRES)}")
    return GENRES.index(genre)


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_seconds(seconds) -> float:
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise ConfigError(f"seconds must be a positive number, got {seconds!r}") from None
    if not math.isfinite(seconds) or seconds <= 0.0:
        raise ConfigError(f"seconds must be a positive number, got {seconds!r}")
    return seconds


def _check_sr(sr) -> int:
    sr = _check_int("sr", sr, 8000)
    if sr > 192000:
        raise ConfigError(f"sr must be between 8000 and 192000 Hz, got {sr}")
    return sr


def render(genre: str, seconds: float = 30.0, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Render one synthetic track of ``genre``.

    Parameters
    ----------
    genre : str
        One of :data:`GENRES`.
    seconds : float > 0
        Duration.
    sr : int
        Sampling rate in Hz (8000..192000).
    seed : int >= 0
        Track seed; together with ``genre`` it fixes tempo, key, progression, mix and
        every other random choice.

    Returns
    -------
    np.ndarray [shape=(round(seconds * sr),), dtype=float32]
        Mono signal with a peak between 0.5 and 0.9. Deterministic in
        ``(genre, seconds, sr, seed)``: the same arguments give a bit-identical array.

    Raises
    ------
    ConfigError
        Unknown genre, non-positive ``seconds``, bad ``sr`` or negative ``seed``.
    """
    index = _check_genre(genre)
    seconds = _check_seconds(seconds)
    sr = _check_sr(sr)
    seed = _check_int("seed", seed, 0)
    n = int(round(seconds * sr))
    if n < 1:
        raise ConfigError(f"seconds={seconds} at sr={sr} is less than one sample")
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, _SALT]))
    return _Renderer(_STYLES[genre], n, sr, rng).render()


def track_seed(seed: int, genre: str, index: int) -> int:
    """The :func:`render` seed of track ``index`` of ``genre`` in a tree made with ``seed``.

    Parameters
    ----------
    seed : int >= 0
        The tree's seed (``write_tree(seed=...)``).
    genre : str
    index : int >= 0
        Track number within the genre (the ``NN`` of ``<genre>.000NN``).

    Returns
    -------
    int
        A 32-bit seed; different for every ``(seed, genre, index)`` in practice.
    """
    state = np.random.SeedSequence([_check_int("seed", seed, 0), _check_genre(genre),
                                    _check_int("index", index, 0)]).generate_state(1)
    return int(state[0])


def _check_tree_args(n_per_genre, seconds, seed, sr, layout, fmt):
    n_per_genre = _check_int("n_per_genre", n_per_genre, 1)
    if n_per_genre > 99999:
        raise ConfigError(f"n_per_genre must be at most 99999 (5-digit track numbers), got {n_per_genre}")
    seconds = _check_seconds(seconds)
    seed = _check_int("seed", seed, 0)
    sr = _check_sr(sr)
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown fmt {fmt!r}; choose one of {', '.join(FORMATS)}")
    return n_per_genre, seconds, seed, sr, layout, fmt


def _manifest(n_per_genre, seconds, seed, sr, layout, fmt) -> dict:
    return {
        "generator": "genrekit.datasets.synthesis",
        "generator_version": GENERATOR_VERSION,
        "genres": list(GENRES),
        "n_per_genre": n_per_genre,
        "seconds": seconds,
        "seed": seed,
        "sr": sr,
        "layout": layout,
        "fmt": fmt,
    }


def _read_manifest(path: pathlib.Path) -> dict | None:
    """A tree's manifest (``{}`` when unreadable), or None when there is none."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _remove_unwanted(tree: pathlib.Path, keep: set) -> None:
    """Delete generated-looking files (``<genre>.<digits>.<format>``) of an earlier tree that are not in ``keep``:
    only what a previous run of ours made and this run does not want."""
    for genre in GENRES:
        folder = tree / genre
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            stem, _, ext = path.name.rpartition(".")
            if (ext in FORMATS and stem.startswith(genre + ".") and stem[len(genre) + 1:].isdigit()
                    and path not in keep):
                path.unlink()


def write_tree(root, n_per_genre: int = 10, seconds: float = 30.0, seed: int = 0, sr: int = 22050,
               layout: str = "folder", fmt: str = "wav") -> pathlib.Path:
    """Write ``n_per_genre`` synthetic tracks per genre as audio files under ``root``.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to write into (created if missing).
    n_per_genre : int >= 1
        Tracks per genre; track numbers run ``00000 .. n_per_genre - 1``.
    seconds : float > 0
        Duration of every track.
    seed : int >= 0
        Tree seed; track ``i`` of genre ``g`` is ``render(g, seconds, sr, track_seed(seed, g, i))``.
    sr : int
        Sampling rate in Hz.
    layout : {"folder", "genres", "genres_original"}
        ``"folder"``: ``root/<genre>/<genre>.000NN.<fmt>``;
        ``"genres"``: ``root/genres/<genre>/...`` (GTZAN's original layout, use ``fmt="au"``);
        ``"genres_original"``: ``root/genres_original/<genre>/...`` (common WAV re-encoding).
    fmt : {"wav", "au", "flac", "ogg", "mp3"}
        16-bit PCM WAV, Sun AU (16-bit PCM, big-endian), 16-bit FLAC, OGG/Vorbis or MP3.

    Returns
    -------
    pathlib.Path
        The folder holding the genre folders (``root``, ``root/genres`` or
        ``root/genres_original``).

    Raises
    ------
    ConfigError
        Bad ``n_per_genre``, ``seconds``, ``seed``, ``sr``, ``layout`` or ``fmt``.

    Notes
    -----
    Idempotent: a manifest (:data:`MANIFEST_NAME`, JSON with the arguments and
    :data:`GENERATOR_VERSION`) is written last, and a call whose manifest matches and whose
    files all exist returns without writing anything; missing files are re-rendered. The
    manifest is removed before any file is written, and every file is written under a
    temporary name then ``os.replace``-d, so a killed run never leaves a half file nor a
    manifest that vouches for an incomplete tree. When an older manifest shows the tree was
    made by this function, generated-looking files it no longer wants (a previous, larger
    ``n_per_genre`` or another ``fmt``) are deleted so loaders see exactly this tree.
    """
    n_per_genre, seconds, seed, sr, layout, fmt = _check_tree_args(n_per_genre, seconds, seed, sr, layout, fmt)
    root = pathlib.Path(root)
    tree = root if layout == "folder" else root / layout
    manifest_path = tree / MANIFEST_NAME
    wanted = _manifest(n_per_genre, seconds, seed, sr, layout, fmt)
    files = {
        (genre, i): tree / genre / f"{genre}.{i:05d}.{fmt}"
        for genre in GENRES for i in range(n_per_genre)
    }
    old = _read_manifest(manifest_path)
    if old == wanted and all(p.is_file() for p in files.values()):
        return tree
    if old is not None:
        manifest_path.unlink()
        if old != wanted:
            _remove_unwanted(tree, set(files.values()))
    format_, subtype = FORMATS[fmt]
    for (genre, i), path in files.items():
        if old == wanted and path.is_file():
            continue  # same arguments: only the missing files need rendering
        path.parent.mkdir(parents=True, exist_ok=True)
        y = render(genre, seconds, sr, track_seed(seed, genre, i))
        atomic_write(path, lambda stream: sf.write(stream, y, sr, format=format_, subtype=subtype))
    atomic_write_text(manifest_path, json.dumps(wanted, indent=1, sort_keys=True) + "\n")
    return tree


def synthetic(n_per_genre: int = 10, seconds: float = 30.0, seed: int = 0, root=None, sr: int = 22050,
              layout: str = "folder", fmt: str = "wav"):
    """A synthetic ten-genre collection, written to disk once and then reused.

    Parameters
    ----------
    n_per_genre, seconds, seed, sr, layout, fmt
        As in :func:`write_tree`.
    root : str or os.PathLike, optional
        Where to write. ``None``: ``genrekit.files.cache_home() / "synthetic" / <hash>``, where the hash
        covers the arguments and :data:`GENERATOR_VERSION`, so each distinct data set has
        its own folder and a generator change never reuses stale audio.

    Returns
    -------
    TrackCollection
        ``genrekit.datasets.genre_folders.folder(tree, genres=GENRES, name="synthetic")`` for
        ``layout="folder"`` (track ids ``<genre>/<genre>.000NN``),
        ``genrekit.datasets.gtzan_genre.gtzan(root)`` for the GTZAN layouts (track ids
        ``<genre>.000NN``; its warning about the ids a short synthetic tree lacks is
        silenced, ``.missing`` still lists them).

    Raises
    ------
    ConfigError
        Bad arguments (see :func:`write_tree`).
    """
    n_per_genre, seconds, seed, sr, layout, fmt = _check_tree_args(n_per_genre, seconds, seed, sr, layout, fmt)
    if root is None:
        key = json.dumps(_manifest(n_per_genre, seconds, seed, sr, layout, fmt), sort_keys=True)
        root = cache_home() / "synthetic" / hashlib.sha256(key.encode()).hexdigest()[:16]
    root = pathlib.Path(root)
    tree = write_tree(root, n_per_genre, seconds, seed, sr, layout, fmt)
    # Imported here: the loaders import the audio stack and this module must stay
    # importable on its own (and before / without them).
    if layout == "folder":
        from genrekit.datasets.genre_folders import folder

        # Fixed label order (GENRES) even if a genre folder were ever missing.
        return folder(tree, genres=GENRES, name="synthetic")
    from genrekit.datasets.gtzan_genre import DatasetWarning, gtzan

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        collection = gtzan(root)
    # gtzan() warns that ids up to .00099 are missing: expected for a synthetic tree with
    # fewer tracks, so only pass the warning on when some of our files did not decode.
    if collection.skipped:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return collection
