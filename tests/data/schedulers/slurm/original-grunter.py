# A stand-in for the original Python grunt's Slurm runner, grunter.py
# (github.com/emer/grunt), written for the tests from its documented
# behaviour, not from its code: `submit` writes job.sbatch (the batch script
# writes job.start, runs the job with the lines of job.args as arguments and
# writes job.end), runs `sbatch job.sbatch`, reads "Submitted batch job N"
# and writes N to job.slurmid; `status` writes the state `squeue -j N -o %T`
# prints to job.status; `cancel` runs scancel and writes job.canceled;
# `results` prints the result files. It knows nothing of GRUNT_* variables,
# job.exitcode or batch-status, as the original does not.
#
# Python 3 standard library only, as the original.

import datetime
import glob
import os
import re
import shlex
import subprocess
import sys


def timestamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def write(name, text):
    with open(name, "w") as f:
        f.write(text + "\n")


def read(name):
    with open(name) as f:
        return f.read().strip()


def job_args():
    if not os.path.exists("job.args"):
        return []
    with open("job.args") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def submit():
    command = "sh sim.sh " + " ".join(shlex.quote(a) for a in job_args())
    script = "\n".join([
        "#!/bin/bash",
        "#SBATCH --job-name=" + os.path.basename(os.path.dirname(os.getcwd())),
        "#SBATCH --output=job.out",
        "#SBATCH --error=job.err",
        "#SBATCH --time=10",
        "date -u '+%Y-%m-%d %H:%M:%S UTC' > job.start",
        command,
        "date -u '+%Y-%m-%d %H:%M:%S UTC' > job.end",
        "",
    ])
    with open("job.sbatch", "w") as f:
        f.write(script)
    out = subprocess.check_output(["sbatch", "job.sbatch"]).decode()
    m = re.search(r"Submitted batch job (\d+)", out)
    if not m:
        sys.exit("sbatch said: " + out)
    write("job.slurmid", m.group(1))
    print(out.strip())


def status():
    out = subprocess.run(["squeue", "-j", read("job.slurmid"), "-o", "%T"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    lines = out.split()
    state = lines[-1] if lines else "UNKNOWN"
    write("job.status", state)
    print(state)


def cancel():
    subprocess.call(["scancel", read("job.slurmid")])
    write("job.canceled", timestamp())


def results():
    for name in sorted(glob.glob("*.csv")):
        print(name)


COMMANDS = {"submit": submit, "status": status, "cancel": cancel, "results": results}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit("unknown command: " + " ".join(sys.argv[1:]))
    COMMANDS[sys.argv[1]]()
