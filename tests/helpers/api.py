"""Signing in through the API in tests."""

from __future__ import annotations

from typing import Any


async def till_login(
    api: Any, till: str = "BER1", staff_code: str = "1001", pin: str = "1234"
) -> dict[str, str]:
    response = await api.post(f"/tills/{till}/login", json={"staff_code": staff_code, "pin": pin})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def password_login(api: Any, username: str, password: str) -> dict[str, str]:
    response = await api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
