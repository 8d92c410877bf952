# %% [markdown]
# # 07_cnn

# %%
print(1 + 1)
