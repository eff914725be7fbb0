import pytest

from local.postgres import database_url, init_cluster, password_file


def test_the_password_is_kept_beside_the_data_directory(tmp_path):
    assert password_file(tmp_path / "pg") == tmp_path / "pg.password"
    assert database_url("clinic", "pw", 5432, "clinic") == (
        "postgresql+psycopg2://clinic:pw@127.0.0.1:5432/clinic")


@pytest.mark.parametrize("hba, password", [
    ("local all all trust\nhost all all 127.0.0.1/32 trust\n", "kept"),  # an earlier version's
    ("host all all 127.0.0.1/32 scram-sha-256\n", None),  # the password file was lost
])
def test_a_cluster_anyone_local_could_open_is_refused(tmp_path, hba, password):
    data = tmp_path / "pg"
    data.mkdir()
    (data / "PG_VERSION").write_text("15\n")
    (data / "pg_hba.conf").write_text("# comment trust\n" + hba)
    if password:
        password_file(data).write_text(password)
    with pytest.raises(RuntimeError, match="delete it"):
        init_cluster(data)
