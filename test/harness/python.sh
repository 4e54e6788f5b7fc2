#!/usr/bin/env bash
# Which Python runs moto: the system python3 when it has moto 5.2.1 (and flask), else the virtual
# environment test/setup.sh creates ($BTX_VENV, default /opt/btexport-test-venv).
# usage: source test/harness/python.sh   -> exports BTX_MOTO_PYTHON
_btx_has_moto() { "$1" -c "import moto, flask, sys; sys.exit(moto.__version__ != '5.2.1')" 2>/dev/null; }
if [ -z "${BTX_MOTO_PYTHON:-}" ]; then
	if _btx_has_moto python3; then BTX_MOTO_PYTHON=$(command -v python3)
	elif _btx_has_moto "${BTX_VENV:-/opt/btexport-test-venv}/bin/python3"; then BTX_MOTO_PYTHON="${BTX_VENV:-/opt/btexport-test-venv}/bin/python3"
	else BTX_MOTO_PYTHON=python3
	fi
fi
export BTX_MOTO_PYTHON
