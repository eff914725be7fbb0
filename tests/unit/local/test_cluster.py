"""The cluster's configuration: ports from the environment, the generated nginx configuration."""

import shutil
import subprocess
from pathlib import Path

import pytest

from local.cluster import ClusterPorts, nginx_command, render_nginx_conf, write_nginx_conf


def test_ports_follow_the_makefile_variables():
    ports = ClusterPorts.from_env({"RASA_PORT": "7005", "ACTION_SERVER_PORT": "7055",
                                   "WEBAPP_PORT": "7000", "CLUSTER_NGINX_PORT": "7080"})
    assert (ports.rasa, ports.actions, ports.webapp, ports.nginx) == (
        (7005, 7006), (7055, 7056), 7000, 7080)
    assert ports.postgres == ClusterPorts().postgres


def test_render_fills_placeholders_only():
    assert render_nginx_conf("listen ${A}; $host ${B}", {"A": "1", "B": "2"}) == "listen 1; $host 2"
    with pytest.raises(KeyError):
        render_nginx_conf("${MISSING}", {})


def test_generated_configuration_is_valid_nginx(tmp_path):
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (make system-packages)")
    main_conf = write_nginx_conf(tmp_path, ClusterPorts.free(), "30r/s", 100)
    clinic_conf = (tmp_path / "clinic.conf").read_text()
    assert "ip_hash;" in clinic_conf and "client_max_body_size 64k;" in clinic_conf
    assert "rate=30r/s" in clinic_conf and "burst=100" in clinic_conf
    result = subprocess.run([*nginx_command(main_conf), "-t", "-q"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_replica_marked_down_is_flagged_in_both_upstreams(tmp_path):
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (make system-packages)")
    ports = ClusterPorts.free()
    main_conf = write_nginx_conf(tmp_path, ports, "30r/s", 100, down=frozenset({1}))
    clinic_conf = (tmp_path / "clinic.conf").read_text()
    assert clinic_conf.count(f"server 127.0.0.1:{ports.rasa[1]} down max_fails") == 2
    assert f"127.0.0.1:{ports.rasa[0]} down" not in clinic_conf
    result = subprocess.run([*nginx_command(main_conf), "-t", "-q"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
