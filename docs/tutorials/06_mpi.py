# %% [markdown]
# # 06_mpi

# %%
print(1 + 1)
