# %% [markdown]
# # 04_from_pytorch

# %%
print(1 + 1)
