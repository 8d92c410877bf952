# %% [markdown]
# # 02_engine

# %%
print(1 + 1)
