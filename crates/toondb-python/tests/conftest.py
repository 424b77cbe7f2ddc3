import pytest

import toondb


@pytest.fixture
def db():
    d = toondb.Database.open_in_memory()
    yield d
    d.close()


@pytest.fixture
def disk_db(tmp_path):
    d = toondb.Database.open(tmp_path / "db")
    yield d
    d.close()
