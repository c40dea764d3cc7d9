def hello(name: str) -> str:
    return f"hello, {name}, from a wheel installed by URL"
