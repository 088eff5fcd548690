"""label_node under a real ROS 2 (Kilted wheels, Fast DDS), each run in a network namespace of its own:
a drive replayed with keyframe labels on time, late, early and out of order ends with exactly the
labels and confidence bag_label writes; parameters, diagnostics, bad messages and Ctrl-C."""

from __future__ import annotations

import subprocess

import pytest
from live_node import Drive, Run, assert_same_labels, command, make_drive, run_scenario, without_workspace

from warp_refine_ros.resources import share_path


@pytest.fixture(scope="module")
def on_time(drive: Drive, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Keyframes right after their images, the camera's CameraInfo beside them; then run-time
    parameter changes, then bad messages, then SIGINT."""
    out = tmp_path_factory.mktemp("on_time")
    overrides = {"qos_overrides./labels.publisher.depth": 50}
    return run_scenario(
        out, drive, "on-time", ("camera_info", "parameters", "bad_messages"), parameters=overrides
    )


def test_shipped_files_are_found_without_a_sourced_workspace():
    done = subprocess.run(
        [
            command("python"),
            "-c",
            "from warp_refine_ros.resources import share_path as p; print(p('config/label.yaml'))",
        ],
        env=without_workspace(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(share_path("config/label.yaml"))


def test_keyframes_on_time_give_bag_labels_files_with_the_images_headers(on_time, drive):
    assert_same_labels(on_time, drive)
    assert on_time.record["frame_ids"] == ["camera"]
    assert on_time.record["color_encodings"] == ["rgb8"]


def test_camera_info_travels_with_each_label(on_time):
    infos = on_time.record["camera_info"]
    assert len(infos) == on_time.record["label_messages"]
    for stamp, frame_id, k in infos:  # the camera's own calibration of that frame, with its header
        assert (frame_id, k[0]) == ("camera", float(stamp % 997))


def test_parameters_change_through_the_parameter_service(on_time):
    results = on_time.record["parameters"]
    assert results["radius=3"] == {"successful": True, "reason": ""}
    assert not results["method=optical-magic"]["successful"]
    assert "one of" in results["method=optical-magic"]["reason"]
    assert not results["buffer_size=5"]["successful"]  # read-only: it sizes the buffer at start
    assert not results["tau=-1.0"]["successful"] and ">= 0" in results["tau=-1.0"]["reason"]
    assert results["read back"] == [3, ""]
    assert results["qos_overrides./labels.publisher.depth"] == 50  # given at start, ROS 2's way


def test_a_bad_qos_override_stops_the_node_at_start_naming_the_topic(drive, tmp_path):
    bad = {"qos_overrides./labels.publisher.reliability": "sometimes"}
    run = run_scenario(tmp_path, drive, "start-only", parameters=bad)
    assert run.record["exit_code"] == 1
    assert "cannot start: qos_overrides for topic 'labels'" in run.record["log"]
    assert "Traceback" not in run.record["log"]


def test_diagnostics_report_frames_latency_and_problems(on_time):
    statuses = on_time.record["diagnostics"]
    labeling = [s for s in statuses if s["values"].get("frames") == "40"]
    assert labeling, "no /diagnostics status counted all 40 frames"
    values = labeling[0]["values"]
    for key in (
        "published",
        "frames_dropped",
        "frames_lost_in_transport",
        "latency_p99_ms",
        "buffered_frames",
    ):
        assert key in values
    assert values["keyframes_applied"] == "4" and values["frames_dropped"] == "0"
    last = statuses[-1]
    assert last["level"] == 1, "the bad messages should keep /diagnostics at WARN"
    # the wrong-size keyframe is invalid; it, mono16 over 255 and the odd encoding are messages refused
    assert (last["values"]["keyframes_invalid"], last["values"]["errors"]) == ("1", "3")
    assert "problems since last report" in last["message"]


def test_bad_messages_are_explained_and_the_node_keeps_running(on_time):
    record = on_time.record
    assert record["alive_after_bad_messages"] and record["parameters_after_bad_messages"] == [3, ""]
    log = record["log"]
    assert "is 160x60 but the image is 160x120" in log  # wrong-size keyframe
    assert "32FC9" in log  # unsupported encoding
    assert "holds id 300; class ids must be 0..255" in log
    assert "time went back by 5." in log and "labeling starts over" in log


def test_ctrl_c_exits_0(on_time):
    assert on_time.record["exit_code"] == 0, on_time.record["log"][-2000:]
    assert "Traceback" not in on_time.record["log"]


@pytest.mark.parametrize(
    ("order", "options"),
    [
        ("late", {"delay": 5, "rate_hz": 5.0}),
        ("early", {}),
        ("reversed", {"parameters": {"buffer_size": 45}}),  # every label after the last image
    ],
)
def test_late_early_and_out_of_order_keyframes_end_with_bag_labels_files(drive, tmp_path, order, options):
    run = run_scenario(tmp_path, drive, order, **options)
    assert_same_labels(run, drive)
    assert run.record["exit_code"] == 0
    assert "dropped" not in run.record["log"]


def test_compressed_images_give_bag_labels_files(tmp_path):
    drive = make_drive(tmp_path / "jpeg", "--encoding", "jpeg")
    run = run_scenario(tmp_path / "run", drive, "on-time", parameters={"use_compressed": True})
    assert_same_labels(run, drive)


def test_a_keyframe_folder_published_with_publish_keyframes_labels_the_stream(drive, tmp_path):
    run = run_scenario(tmp_path, drive, "folder")
    assert_same_labels(run, drive)
    publisher = run.record["publisher"]
    assert publisher["code"] == 0 and "published" in publisher["log"] and "(4 of 4)" in publisher["log"]
    assert "every keyframe label sent, acknowledged by every subscriber; exiting" in publisher["log"]
