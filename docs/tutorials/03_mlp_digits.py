# %% [markdown]
# # 03_mlp_digits

# %%
print(1 + 1)
