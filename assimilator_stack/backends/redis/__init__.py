"""The Redis side: sans-I/O plans (operations as generators yielding requests, protocol.py;
commands built in commands.py, replies parsed in replies.py), the repository methods written
once over them (operations.py), and the drivers that run the plans (sync_driver.py,
async_driver.py)."""
