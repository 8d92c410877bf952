# %% [markdown]
# # 05_sklearn

# %%
print(1 + 1)
