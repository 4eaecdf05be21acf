async def test_accounts_list_starts_empty(api):
    data = await api.query("{ accounts { totalCount edges { node { id } } } }")
    assert data == {"accounts": {"totalCount": 0, "edges": []}}
